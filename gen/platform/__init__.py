"""What is specific to a board and its tools, shared by every architecture:
the board data files (boards), the Vivado block design, PYNQ driver and
Makefile (board_files), running Vitis HLS / Vivado (build), and copying a
built project to a board over SSH (deploy)."""
