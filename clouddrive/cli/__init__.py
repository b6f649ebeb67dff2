"""The command line: a thin shell over `Drive`."""
