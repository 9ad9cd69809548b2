"""The offline render: the stack program under Pulumi's mock runtime, written out for review.

    from tenancy.render import render_spec, write_render
    result = render_spec(platform_dict, stack="dev", config={"aws:region": "eu-west-1"})
    write_render(result, Path("build/dev"))

It needs no cloud account, no Pulumi CLI and no network.
"""

from tenancy.render.engine import RenderError
from tenancy.render.result import RenderResult, render_spec, render_stack_file
from tenancy.render.writer import write_render
from tenancy.spec.stackfile import load_stack_file

__all__ = ["RenderError", "RenderResult", "load_stack_file", "render_spec", "render_stack_file", "write_render"]
