"""Writing a project folder: the staged, never-overwriting output folder
(folder), C++/Tcl-safe names (names) and where the packaged data lives (paths)."""
