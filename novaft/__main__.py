import sys

from novaft.cli import main

sys.exit(main())
