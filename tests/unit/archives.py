"""tar archives built in memory, as SageMaker jobs write them (output.tar.gz, model.tar.gz)."""

from __future__ import annotations

import io
import tarfile


def tar_archive(files: dict[str, bytes], *, link: str | None = None) -> bytes:
    """The archive of ``files`` (name -> body); ``link`` adds a symbolic link of that name to /etc/passwd, which every
    reader must refuse."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(body)
            archive.addfile(member, io.BytesIO(body))
        if link is not None:
            member = tarfile.TarInfo(link)
            member.type = tarfile.SYMTYPE
            member.linkname = "/etc/passwd"
            archive.addfile(member)
    return buffer.getvalue()
