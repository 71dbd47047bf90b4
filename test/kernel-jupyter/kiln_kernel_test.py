"""Debian's jupyter_kernel_test suite (python3-jupyter-kernel-test 0.4.5) against the kiln kernel.

Run by test/kernel-jupyter/kernel-test-suite.test.ts as
    JUPYTER_PATH=<temp prefix>/share/jupyter /usr/bin/python3 -m unittest -v kiln_kernel_test
from this folder (the kernelspec is installed into a temp --prefix; KILN_KERNEL_NAME overrides the
name). KernelTests starts one kernel for the class with jupyter_client's start_new_kernel and runs
every test_* method against it; each sample below switches one of them on.

Tests of KernelTests 0.4.5 and what they need here:
  test_kernel_info       language_name / file_extension
  test_execute_stdout    code_hello_world (console.log -> stream stdout)
  test_execute_stderr    code_stderr (console.error -> stream stderr)
  test_completion        completion_samples (globals, members, line magics)
  test_is_complete       complete / incomplete / invalid code samples
  test_pager             code_page_something (a `?` help request answered with a page payload):
                         not applicable, see NOT_APPLICABLE
  test_error             code_generate_error (exactly one `error` output)
  test_execute_result    code_execute_result
  test_display_data      code_display_data (display() of a plain value and of a kiln table)
  test_history           code_execute_result + supported_history_operations + code_history_pattern
                         (tail, range and search; see below)
  test_inspect           code_inspect_sample
  test_clear_output      code_clear_output (clearOutput())

Not applicable: see NOT_APPLICABLE below; those tests are left without a sample, so they skip.
"""

import os
import unittest

import jupyter_kernel_test

# The test methods of KernelTests that do not apply to kiln, with the reason. The uvu test reads
# this list (through the unittest output) and expects exactly these to be skipped.
NOT_APPLICABLE = {
    "test_pager": (
        "kiln has no pager: there is no `?name` help syntax and the kernel sends no `page` payloads"
        " (payloads are deprecated in the messaging spec). Documentation comes from inspect_request"
        " (Shift-Tab; covered by test_inspect) and from the %help magic, shown as ordinary output."
    ),
}


class KilnKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("KILN_KERNEL_NAME", "kiln")

    language_name = "typescript"
    file_extension = ".ts"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # a few names for completion and inspection samples; executed before any test
        cls.kc.execute_interactive(
            "const kilnAnswer = 42; const kilnAnswerText = 'forty-two';"
            " function kilnDouble(n: number): number { return 2 * n }",
            timeout=60,
        )

    code_hello_world = 'console.log("hello, world")'

    code_stderr = 'console.error("a warning on stderr")'

    completion_samples = [
        # globals of the cell context, one of them defined in setUpClass
        {"text": "kilnAns", "matches": {"kilnAnswer", "kilnAnswerText"}},
        {"text": "kilnDou", "matches": {"kilnDouble"}},
        # members of an object: the match replaces the word after the dot (cursor_start is there)
        {"text": "Math.sqr", "matches": {"sqrt"}},
        # line magics from the shared command table
        {"text": "%pipel", "matches": {"%pipeline"}},
    ]

    complete_code_samples = [
        "1 + 1",
        "const x = 1;",
        "function f(n: number) { return n }",
        "for (let i = 0; i < 3; i++) {}",
        "%step 2",
        "",
    ]
    incomplete_code_samples = [
        "function f(n: number) {",
        "const a = [1, 2,",
        "if (true) {\n  console.log(1)",
        "const s = `unfinished",
    ]
    invalid_code_samples = [
        "const = 1;",
        "1 +* 2",
        "let let = )",
    ]

    # code_page_something: not applicable, see NOT_APPLICABLE

    code_generate_error = 'throw new Error("kiln test error")'

    code_execute_result = [
        {"code": "6*7", "result": "42"},
        # a string result shows quoted, as the Node REPL shows it
        {"code": "'kiln' + 'ln'", "result": "'kilnln'"},
        {"code": "[1, 2, 3].map((v) => v * 2)", "result": "[ 2, 4, 6 ]"},
        {"code": "({ html: 1 })", "mime": "text/plain"},
        {"code": "buildTable('t', [{ name: 'a', type: 'i32', values: [1, 2] }])", "mime": "text/html"},
    ]

    code_display_data = [
        {"code": "display({ 'text/html': '<b>bold</b>', 'text/plain': 'bold' }, { raw: true })", "mime": "text/html"},
        {"code": "display(kilnAnswer)", "mime": "text/plain"},
        # a kiln result table carries HTML and the Arrow IPC stream
        {"code": "display(buildTable('t', [{ name: 'a', type: 'i32', values: [1, 2] }]))",
         "mime": "application/vnd.apache.arrow.stream"},
    ]

    # matches one of code_execute_result (glob syntax, as IPython's history search)
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "kilnDouble"

    code_clear_output = "clearOutput()"


if __name__ == "__main__":
    unittest.main()
