"""What ortfix does on GitHub: review a pull request, commit fixes, audit a repository, scan a commit."""
