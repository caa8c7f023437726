"""Jinja's code generator, changed so loops, ``~``, comparisons and dict keys go through the
sandbox.

Jinja compiles a template to Python source; ``{% for %}``, ``~``, ``==``/``in`` and the keys of
a ``{...}`` literal (hashed) become plain Python there, out of the sandbox's reach. This
generator routes them through methods of the environment (``guard_loop``, ``join_parts``,
``compare``, ``dict_key``) that spend the run's budget.
"""

from __future__ import annotations

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame


def _is_guarded(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Call) and isinstance(node.node, nodes.EnvironmentAttribute)


class BudgetedCodeGenerator(CodeGenerator):
    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # Jinja allows no custom node types: the loop iterates environment.guard_loop(iter).
        if not _is_guarded(node.iter):
            guard = nodes.EnvironmentAttribute("guard_loop", lineno=node.iter.lineno)
            node.iter = nodes.Call(guard, [node.iter], [], None, None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_parts((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.compare(")
        self.visit(node.expr, frame)
        for operand in node.ops:
            self.write(f", {operand.op!r}, ")
            self.visit(operand.expr, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("{")
        for item in node.items:
            if isinstance(item.key, nodes.Const):
                self.visit(item.key, frame)
            else:
                self.write("environment.dict_key(")
                self.visit(item.key, frame)
                self.write(")")
            self.write(": ")
            self.visit(item.value, frame)
            self.write(", ")
        self.write("}")
