"""The outside world behind one door each: GitHub's API, the store, the package managers in their sandbox."""
