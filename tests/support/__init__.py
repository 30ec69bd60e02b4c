"""Helpers of the test suite (not tests): fakes and servers, checks shared by several test
modules, and the ``marker_guard`` pytest plugin. Imported as ``support.<module>``."""
