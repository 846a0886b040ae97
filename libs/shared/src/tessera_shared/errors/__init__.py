"""The error model: stable codes, a domain exception, and the HTTP mapping."""

from tessera_shared.errors.codes import ERRORS, FIELD_ERRORS, Code, ErrorSpec
from tessera_shared.errors.model import ErrorBody, FieldError, TesseraError

__all__ = ["ERRORS", "FIELD_ERRORS", "Code", "ErrorBody", "ErrorSpec", "FieldError", "TesseraError"]
