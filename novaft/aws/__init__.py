"""Thin boto3 adapters: each module wraps one service and maps its errors to novaft's named errors."""
