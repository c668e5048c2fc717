"""Runs a Python command line up to the end of its argument parsing, and no further (tests/test_docs_commands.py).

    python tests/argcheck.py SCRIPT ARGS...      # what `python SCRIPT ARGS...` would parse
    python tests/argcheck.py -m MODULE ARGS...

argparse's and jsonargparse's (Lightning CLI's) parse_args run as usual, so a wrong option or value ends the
process with the parser's own message and status 2; once the arguments parse, PARSED is printed and the process
ends with status 0 before the program does anything with them (no download, no training, no device).
"""
import argparse
import os
import runpy
import sys

PARSED = "argcheck: arguments parsed"


def stop_after(parse_args):
    def parse_then_stop(self, *args, **kwargs):
        parse_args(self, *args, **kwargs)
        print(PARSED, flush=True)
        sys.stderr.flush()
        os._exit(0)  # not SystemExit: the entry points' handlers must not see it
    return parse_then_stop


def main():
    argparse.ArgumentParser.parse_args = stop_after(argparse.ArgumentParser.parse_args)
    import jsonargparse
    jsonargparse.ArgumentParser.parse_args = stop_after(jsonargparse.ArgumentParser.parse_args)
    if sys.argv[1] == "-m":
        module, *args = sys.argv[2:]
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script, *args = sys.argv[1:]
        sys.argv = [script, *args]
        sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python SCRIPT` sets it
        runpy.run_path(script, run_name="__main__")
    sys.exit(f"argcheck: {' '.join(sys.argv)} ended without parsing arguments")


if __name__ == "__main__":
    main()
