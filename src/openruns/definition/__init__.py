"""The process definition language: the model, templates, step types and validation."""

from openruns.definition.model import Definition, InputSpec, RetrySpec, Step
from openruns.definition.validate import parse_definition

__all__ = ["Definition", "InputSpec", "RetrySpec", "Step", "parse_definition"]
