#!/usr/bin/env python
"""Run Django administrative commands for Bowtie."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bowtie.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from bowtie.environment import load_environment

    try:
        # Read before the settings, whose import would bury the message
        # naming each bad variable under a traceback.
        load_environment()
    except ImproperlyConfigured as refused:
        sys.exit(str(refused))

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
