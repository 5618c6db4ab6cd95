"""Stand-in for the corpus's hello-git.py: reports the git repository around the working folder, if any."""
import os

import pygit2

found = pygit2.discover_repository(os.getcwd())
print(f"hello-git: pygit2 {pygit2.__version__}, repository: {found or 'none'}")
