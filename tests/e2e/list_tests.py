"""Print the id of every e2e test case (module.Class.method), one per line.

Used by CMakeLists.txt at configure time to register each case with ctest.
Only imports the test modules; it starts no server."""

import glob
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def cases(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from cases(item)
        else:
            yield item.id()


def main():
    loader = unittest.TestLoader()
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        module = __import__(name)
        for case in cases(loader.loadTestsFromModule(module)):
            print(case)


if __name__ == "__main__":
    main()
