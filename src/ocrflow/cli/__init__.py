"""`ocrflow` command line. Bad inputs get one line each on stderr and a non-zero exit; never a traceback."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from ocrflow.cli.stopping import Stopped, stop_signals_unwind
from ocrflow.errors import OcrflowError
from ocrflow.formats.kinds import DEFAULT_OUTPUTS_SETTING, OutputKind, parse_outputs
from ocrflow.providers.names import DEFAULT_PROVIDER, OcrMode, ProviderName
from ocrflow.workflow.routing import AUTO

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _outputs(text: str) -> tuple[OutputKind, ...]:
    try:
        return parse_outputs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocrflow", description="OCR documents into JSON, text and searchable PDF.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True)

    ocr = commands.add_parser("ocr", help="OCR files: writes <stem>.json, <stem>.txt, <stem>.searchable.pdf")
    ocr.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    ocr.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    ocr.add_argument("--provider", default=os.environ.get("OCRFLOW_PROVIDER", DEFAULT_PROVIDER.value),
                     choices=[p.value for p in ProviderName])
    ocr.add_argument("--lang", default=os.environ.get("OCRFLOW_LANG", "eng"),
                     help="language code(s): eng, deu, en+de (default: eng)")
    ocr.add_argument("--ocr-mode", default=os.environ.get("OCRFLOW_OCR_MODE", OcrMode.AUTO.value),
                     type=OcrMode, choices=list(OcrMode), metavar="{auto,force,skip-text}",
                     help="which PDF pages are OCRed: auto (scanned pages, and mixed pages where their text does "
                          "not cover the scan; text pages are read), force (every page, from its rendering), "
                          "skip-text (never a page that carries text); default: auto")
    ocr.add_argument("--outputs", default=os.environ.get("OCRFLOW_OUTPUTS", DEFAULT_OUTPUTS_SETTING), type=_outputs,
                     metavar="KINDS", help="comma-separated: json, txt, pdf (searchable), hocr, alto (ALTO v4.4 "
                     "XML); default: json,txt,pdf")
    ocr.add_argument("--quiet", action="store_true", help="no progress bar")

    submit = commands.add_parser("submit", help="send files to a deployed ocrflow API; writes what `ocr` writes")
    submit.add_argument("inputs", nargs="+", type=Path, metavar="FILE")
    submit.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    submit.add_argument("--api", default=os.environ.get("OCRFLOW_API_URL"), metavar="URL",
                        help="the API's base URL (the stack's ApiUrl output; default: OCRFLOW_API_URL)")
    submit.add_argument("--key", default=os.environ.get("OCRFLOW_API_KEY"), metavar="KEY",
                        help="an API key of your tenant (default: OCRFLOW_API_KEY)")
    submit.add_argument("--outputs", default=os.environ.get("OCRFLOW_OUTPUTS", DEFAULT_OUTPUTS_SETTING), type=_outputs,
                        metavar="KINDS", help="comma-separated: json, txt, pdf, hocr, alto; default: json,txt,pdf")
    submit.add_argument("--lang", default=None, help="language code(s), e.g. eng or eng+deu (default: the API's)")
    submit.add_argument("--provider", default=None, choices=[p.value for p in ProviderName],
                        help="pin a provider (default: the deployment's route)")
    submit.add_argument("--ocr-mode", default=None, type=OcrMode, choices=list(OcrMode),
                        metavar="{auto,force,skip-text}", help="default: the deployment's")
    submit.add_argument("--concurrency", type=int, default=4, help="files in flight at once (default: 4)")
    submit.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for one file's job")
    submit.add_argument("--quiet", action="store_true", help="no progress bar")

    schema = commands.add_parser("schema", help="print the normalized document's JSON Schema (or, with --openapi, "
                                 "the HTTPS API's OpenAPI document)")
    schema.add_argument("--write", type=Path, metavar="FILE", help="write it to FILE instead of stdout")
    schema.add_argument("--openapi", action="store_true", help="the API's OpenAPI document instead")

    demo = commands.add_parser("demo", help="OCR the sample documents and show a table of results")
    demo.add_argument("--samples", type=Path, default=Path("events/samples"))
    demo.add_argument("-o", "--output", type=Path, default=Path("out/demo"))
    demo.add_argument("--provider", default=os.environ.get("OCRFLOW_PROVIDER", DEFAULT_PROVIDER.value))

    stack = commands.add_parser("stack-demo", help="deploy the CDK app into the local emulator and OCR the samples "
                                "through the S3 trigger and the workflow (what `make demo` runs)")
    stack.add_argument("--samples", type=Path, default=Path("events/samples"))
    stack.add_argument("-o", "--output", type=Path, default=Path("out/stack-demo"))
    stack.add_argument("--provider", default=os.environ.get("PROVIDER") or AUTO,
                       choices=[AUTO, *(p.value for p in ProviderName)],
                       help="auto (default): the demo's route, pdfmage's fake then the embedded engine; a name: "
                            "that provider only")
    stack.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the jobs")

    fake = commands.add_parser("fake-provider", help="run a provider's fake on 127.0.0.1 (offline try-outs, tests)")
    fake.add_argument("name", choices=[p.value for p in ProviderName if p is not ProviderName.TESSERACT])
    fake.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    fake.add_argument("--fault", action="append", default=[], metavar="MODE[:TIMES]",
                      help="inject a fault (throttle, error5xx, slow, timeout, malformed, expired_token, 524, "
                           "partial, quota, unavailable), for TIMES requests or always")

    from ocrflow.cli import tenants, usage

    tenants.add_parser(commands)
    usage.add_parser(commands)

    api = commands.add_parser("api", help="bring up the local stack with its HTTPS API and the web page; print the "
                              "base URL and a test key; serve until Ctrl-C, SIGTERM or SIGHUP")
    api.add_argument("--provider", default=os.environ.get("PROVIDER") or AUTO,
                     choices=[AUTO, *(p.value for p in ProviderName)])

    samples = commands.add_parser("samples", help="write the sample documents and their known text")
    samples.add_argument("directory", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "submit" and not (args.api and args.key):
        parser.error("submit needs --api URL and --key KEY (or OCRFLOW_API_URL and OCRFLOW_API_KEY)")
    with stop_signals_unwind():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "ocr":
            from ocrflow.cli.ocr import ocr_command

            return ocr_command(args.inputs, args.output, provider=args.provider, languages=args.lang,
                               outputs=args.outputs,
                               ocr_mode=args.ocr_mode, progress=not args.quiet, debug=args.debug)
        if args.command == "submit":
            from ocrflow.cli.submit import submit_command

            return submit_command(args.inputs, args.output, api_url=args.api, api_key=args.key,
                                  outputs=args.outputs, language=args.lang, provider=args.provider,
                                  ocr_mode=args.ocr_mode.value if args.ocr_mode else None,
                                  concurrency=args.concurrency, timeout=args.timeout, progress=not args.quiet)
        if args.command == "schema":
            if args.openapi:
                from ocrflow.api.app import openapi_document

                text = openapi_document()
            else:
                from ocrflow.document import document_json_schema_text

                text = document_json_schema_text()
            if args.write:
                args.write.parent.mkdir(parents=True, exist_ok=True)
                args.write.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
            return EXIT_OK
        if args.command == "demo":
            from ocrflow.cli.demo import run_demo

            return run_demo(args.samples, args.output, provider=args.provider)
        if args.command == "stack-demo":
            from ocrflow.local.demo import run_stack_demo

            return run_stack_demo(args.samples, args.output, provider=args.provider, timeout=args.timeout)
        if args.command == "fake-provider":
            from ocrflow.fakes.serve import serve_fake

            return serve_fake(args.name, args.port, args.fault)
        if args.command == "tenants":
            from ocrflow.cli import tenants

            return tenants.run(args)
        if args.command == "usage":
            from ocrflow.cli import usage

            return usage.run(args)
        if args.command == "api":
            from ocrflow.local.api import serve_local_api

            return serve_local_api(provider=args.provider)
        if args.command == "samples":
            from ocrflow.samples import write_samples

            for path in write_samples(args.directory):
                print(path)
            return EXIT_OK
    except OcrflowError as exc:
        print(f"ocrflow: error: {exc} [{exc.code}]", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM, SIGHUP: everything started has been cleaned up by now
        if isinstance(stop, Stopped) and stop.signum != signal.SIGINT:
            _say(f"ocrflow: stopped by {signal.Signals(stop.signum).name}")
            return stop.exit_status
        _say("ocrflow: interrupted")
        return 130
    return EXIT_USAGE


def _say(line: str) -> None:
    with contextlib.suppress(OSError):  # after SIGHUP there may be no terminal left to write to
        print(line, file=sys.stderr)

