"""C simulation (installed as hlsgen.sim): locating the arbitrary-precision
headers in the installed hls4ml package (headers), cached g++ builds of a
project's two kernel-library branches (compile), batched runs against the
golden executor and per-tensor traces (csim), the exactness table as text
(summary), and the PYNQ board emulator the generated drivers are tested on
(emulator, pynq_emulator/)."""
