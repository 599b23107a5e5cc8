"""wrenn.code_runner (Jupyter kernels through the port proxy, contract §6.5).

Not run: it needs a template with a token-less Jupyter server on port 8888
(the SDK default `code-runner-beta`), and the test setup only seeds the base
templates `minimal` and `python`.
"""

import pytest

pytestmark = pytest.mark.skip(
    reason="code_runner needs a Jupyter template (code-runner-beta); "
    "the conformance setup has only minimal and python"
)


def test_run_code_returns_the_expression_value():
    from wrenn.code_runner import Capsule

    with Capsule(wait=True) as c:
        execution = c.run_code("6 * 7")
        assert execution.text == "42"
