"""An emulated PYNQ board for hlsgen's tests: the few pynq calls a generated
driver makes (Overlay, allocate, the AXI DMA's channels, the IP's control
register), with the IP played by the project's compiled C-simulation code.

Only numpy and ctypes: this runs where the driver runs. An overlay is a
manifest written by sim/emulator.py in place of the .bit file.

What it holds the driver to, as the hardware would:
- buffers come from allocate() (DMA needs physical addresses), receive and
  send addresses are aligned to the DMA's memory-mapped width;
- a channel takes a new transfer only when idle; transfers fit the DMA's
  length register;
- a send feeds the IP's input stream in the IP's words (bytes in memory
  order) and completes only once the IP has taken every word;
- the IP computes a frame per ap_start (or keeps going with auto-restart),
  only when a whole frame of input is there and its previous output has
  been received;
- a receive ends at TLAST (bytes received in `transferred`), and fails when
  the packet is longer than the buffer.
A wait() that would never return on a board raises EmulatorHang instead.

For the tiled engine (an IP with AXI masters instead of streams):
- buffers have a device side: the IP sees what the CPU wrote only after
  flush(), and the CPU sees what the IP wrote only after invalidate(), as
  on the high-performance ports, which do not snoop the CPU's caches;
- each buffer address the IP uses is read from its two 32-bit registers
  (<arg>_1, <arg>_2) and must lie in a live buffer from allocate() that
  holds every byte the IP may touch from there;
- one ap_start runs one frame (n_layers layers from the register);
  auto-restart is refused, and polling ap_done on an IP that was never
  started raises EmulatorHang.
"""

import ctypes
import itertools
import json
import os
from collections import deque

import numpy as np

__version__ = "0.0+hlsgen.emulator"
MAGIC = "hlsgen emulated overlay"
AP_START, AP_DONE, AP_IDLE, AP_READY, AUTO_RESTART = 0x01, 0x02, 0x04, 0x08, 0x80
_PAGE = 4096
# Allocations start this far apart, every one above 4 GiB, so that a driver
# that drops either 32-bit half of an address misses its buffer.
_ADDRESS_STRIDE = (1 << 32) + (1 << 24)
_next_address = itertools.count(1)


class EmulatorHang(RuntimeError):
    """The call would block forever on a real board."""


_LIVE = {}  # base address -> the allocation (its root buffer), until freebuffer()


class PynqBuffer(np.ndarray):
    """A numpy array with the physical address a DMA engine needs, and a
    device side (what a non-coherent AXI master sees)."""

    def __array_finalize__(self, obj):
        base = getattr(obj, "_base_address", None)
        if base is None:
            self._base_address = None
            return
        self._base_address = base
        self._base_pointer = obj._base_pointer
        self._root = obj._root

    @property
    def physical_address(self):
        if self._base_address is None:
            raise RuntimeError("buffer is not from pynq.allocate()")
        return self._base_address + (self.__array_interface__["data"][0] - self._base_pointer)

    device_address = physical_address

    def _span(self):
        """(host bytes of the allocation, first byte of this view, its bytes)."""
        root = self._root
        host = np.asarray(root).reshape(-1).view(np.uint8)
        if not self.flags["C_CONTIGUOUS"]:
            return host, 0, host.size
        return host, self.__array_interface__["data"][0] - self._base_pointer, self.nbytes

    def flush(self):
        """CPU -> device: the IP sees this view's bytes as the CPU wrote them."""
        if self._base_address is not None:
            host, start, n = self._span()
            self._root._device[start:start + n] = host[start:start + n]

    def invalidate(self):
        """Device -> CPU: the CPU sees this view's bytes as the IP wrote them."""
        if self._base_address is not None:
            host, start, n = self._span()
            host[start:start + n] = self._root._device[start:start + n]

    sync_to_device = flush
    sync_from_device = invalidate

    def freebuffer(self):
        if self._base_address is not None:
            _LIVE.pop(self._root._base_address, None)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.freebuffer()
        return False


def allocate(shape, dtype="u4", target=None, **kwargs):
    buf = np.zeros(shape, dtype=dtype).view(PynqBuffer)
    buf._base_address = next(_next_address) * _ADDRESS_STRIDE  # page aligned, never overlapping
    buf._base_pointer = buf.__array_interface__["data"][0]
    buf._root = buf
    buf._device = np.zeros(buf.nbytes, dtype=np.uint8)
    _LIVE[buf._base_address] = buf
    return buf


def _bytes_of(array, start, nbytes, length_limit, align, what):
    if not isinstance(array, PynqBuffer) or array._base_address is None:
        raise RuntimeError(f"{what}: the array must come from pynq.allocate()")
    if not array.flags["C_CONTIGUOUS"]:
        raise RuntimeError(f"{what}: the array is not contiguous")
    if nbytes == 0:
        nbytes = array.nbytes - start
    if nbytes <= 0 or start < 0 or start + nbytes > array.nbytes:
        raise ValueError(f"{what}: {nbytes} bytes from byte {start} do not fit a "
                         f"{array.nbytes}-byte buffer")
    if nbytes > length_limit:
        raise ValueError(f"{what}: transfer size is {nbytes} bytes, which exceeds the maximum "
                         f"DMA buffer size {length_limit}")
    if (array.physical_address + start) % align:
        raise RuntimeError(f"{what}: DMA does not support unaligned transfers; starting address "
                           f"must be aligned to {align} bytes")
    return array.reshape(-1).view(np.uint8), nbytes


def _check_mmio(offset, value=0):
    """What pynq's MMIO accepts: word-aligned offsets, Python ints (a numpy
    integer is refused), values that fit the 32-bit register."""
    if offset % 4:
        raise MemoryError("Unaligned read: offset must be multiple of 4.")
    if type(value) is not int:
        raise ValueError("Data type must be int or bytes.")
    if not 0 <= value < 1 << 32:
        raise ValueError(f"register 0x{offset:02x}: {value} does not fit its 32 bits")


class _Control:
    """An HLS IP's s_axilite control bundle: the control register at 0x00
    (ap_start, ap_done cleared on read, ap_idle, auto-restart) and argument
    registers; pump() runs what a start makes the IP do."""

    def __init__(self):
        self.ctrl = AP_IDLE
        self.regs = {}
        self.frames = 0

    def write(self, offset, value):
        _check_mmio(offset, value)
        if offset == 0:
            status = self.ctrl & (AP_DONE | AP_IDLE | AP_READY)
            self.ctrl = status | (value & (AP_START | AUTO_RESTART))
            self.pump()
        else:
            self.regs[offset] = value

    def read(self, offset=0):
        _check_mmio(offset)
        if offset != 0:
            return self.regs.get(offset, 0)
        value = self.ctrl
        self.ctrl &= ~AP_DONE  # clear on read
        return value

    def pump(self):
        raise NotImplementedError


class _IP(_Control):
    """The dataflow accelerator: its control register and its two AXI-Streams."""

    def __init__(self, lib, geometry):
        super().__init__()
        self._lib = lib
        self.in_bytes, self.in_words, self.out_bytes, self.out_words = geometry
        self.in_stream = deque()    # (bytes, tlast) per word, as the IP will read them
        self.out_stream = deque()   # (bytes, tlast) per word the IP wrote, not yet received

    def why_stalled(self):
        if not self.ctrl & AP_START:
            return ("the IP is not started (write ap_start, 0x01, or auto-restart, 0x81, to "
                    "its control register)")
        if self.out_stream:
            return "the IP's output of the previous frame has not been received"
        return (f"the IP's input holds {len(self.in_stream)} words; a frame needs {self.in_words}")

    def pump(self):
        """Runs frames while the IP is started, has a whole frame of input, and
        its previous output was taken."""
        while self.ctrl & AP_START and len(self.in_stream) >= self.in_words and not self.out_stream:
            words = [self.in_stream.popleft() for _ in range(self.in_words)]
            data = b"".join(w for w, _ in words)
            last = bytes(int(t) for _, t in words)
            out = ctypes.create_string_buffer(self.out_words * self.out_bytes)
            out_last = ctypes.create_string_buffer(self.out_words)
            n = self._lib.hlsgen_emu_start(data, last, out, out_last)
            if n != self.out_words:
                raise RuntimeError(f"emulator: the IP wrote {n} words for a frame, expected "
                                   f"{self.out_words} (-1: input left unread, -2: too many)")
            raw = out.raw
            for i in range(n):
                self.out_stream.append((raw[i * self.out_bytes:(i + 1) * self.out_bytes],
                                        out_last.raw[i] != 0))
            self.frames += 1
            self.ctrl |= AP_DONE | AP_READY
            if not self.ctrl & AUTO_RESTART:
                self.ctrl &= ~AP_START
        self.ctrl = self.ctrl | AP_IDLE if not self.ctrl & AP_START else self.ctrl & ~AP_IDLE


class _MultiIP(_Control):
    """A dataflow accelerator with several AXI-Stream inputs or outputs: a
    frame runs once every input holds a whole frame and every output of the
    previous frame has been received."""

    def __init__(self, lib, n_in, n_out, geometry):
        super().__init__()
        self._lib = lib
        g = list(geometry)
        self.ins = [(g[2 * k], g[2 * k + 1]) for k in range(n_in)]            # (bytes, words)
        self.outs = [(g[2 * k], g[2 * k + 1]) for k in range(n_in, n_in + n_out)]
        self.in_streams = [deque() for _ in self.ins]
        self.out_streams = [deque() for _ in self.outs]

    def why_stalled(self):
        if not self.ctrl & AP_START:
            return ("the IP is not started (write ap_start, 0x01, or auto-restart, 0x81, to "
                    "its control register)")
        if any(self.out_streams):
            waiting = [k for k, q in enumerate(self.out_streams) if q]
            return f"the IP's output port(s) {waiting} of the previous frame have not been received"
        short = [f"input {k} holds {len(q)} words of {w}"
                 for k, (q, (_, w)) in enumerate(zip(self.in_streams, self.ins)) if len(q) < w]
        return "; ".join(short) or "the IP waits"

    def pump(self):
        while (self.ctrl & AP_START and not any(self.out_streams)
               and all(len(q) >= w for q, (_, w) in zip(self.in_streams, self.ins))):
            ins, lasts = [], []
            for q, (_, w) in zip(self.in_streams, self.ins):
                words = [q.popleft() for _ in range(w)]
                ins.append(ctypes.create_string_buffer(b"".join(d for d, _ in words)))
                lasts.append(ctypes.create_string_buffer(bytes(int(t) for _, t in words)))
            outs = [ctypes.create_string_buffer(b * w) for b, w in self.outs]
            out_lasts = [ctypes.create_string_buffer(w) for _, w in self.outs]

            def ptrs(bufs):   # uint8_t *[]: the buffers' addresses
                return (ctypes.c_void_p * len(bufs))(*[ctypes.addressof(b) for b in bufs])
            written = (ctypes.c_int32 * len(self.outs))()
            rc = self._lib.hlsgen_emu_start(ptrs(ins), ptrs(lasts), ptrs(outs), ptrs(out_lasts),
                                            written)
            if rc != 0 or any(n != w for n, (_, w) in zip(written, self.outs)):
                raise RuntimeError(f"emulator: the IP wrote {list(written)} words on its output "
                                   f"ports for a frame, expected {[w for _, w in self.outs]} "
                                   f"(status {rc}; -1: input left unread, -2: too many)")
            for q, buf, last, (b, w) in zip(self.out_streams, outs, out_lasts, self.outs):
                raw = buf.raw
                for i in range(w):
                    q.append((raw[i * b:(i + 1) * b], last.raw[i] != 0))
            self.frames += 1
            self.ctrl |= AP_DONE | AP_READY
            if not self.ctrl & AUTO_RESTART:
                self.ctrl &= ~AP_START
        self.ctrl = self.ctrl | AP_IDLE if not self.ctrl & AP_START else self.ctrl & ~AP_IDLE


class _PortPair:
    """What one DMA of a _MultiIP sees: input port `i` (its MM2S) and output
    port `o` (its S2MM), either None when the DMA has no such channel."""

    def __init__(self, ip, i, o):
        self._ip, self._i, self._o = ip, i, o
        self.in_bytes = ip.ins[i][0] if i is not None else 0
        self.in_stream = ip.in_streams[i] if i is not None else deque()
        self.out_stream = ip.out_streams[o] if o is not None else deque()

    def pump(self):
        self._ip.pump()

    def why_stalled(self):
        return self._ip.why_stalled()


class _Register:
    def __init__(self, address):
        self.address = address


class _RegisterMap:
    """What pynq builds from the .hwh: each argument register by name."""

    def __init__(self, registers):
        for name, offset in registers.items():
            setattr(self, name, _Register(offset))


class _TiledIP(_Control):
    """The tiled engine: AXI masters on the DDR buffers its registers point at."""

    IDLE_POLLS = 10000  # reads of an idle, unstarted IP before polling counts as a hang

    def __init__(self, lib, manifest):
        super().__init__()
        self._lib = lib
        self.args = manifest["args"]  # [name, is a buffer], in the C ABI's order
        buffers = [name for name, is_buffer in self.args if is_buffer]
        g = (ctypes.c_uint64 * len(buffers))()
        lib.hlsgen_emu_tiled_geometry(g)
        self.need = dict(zip(buffers, (int(v) for v in g)))  # desc: per layer
        self.registers = dict(manifest["registers"])  # the IP's own layout
        # What the .hwh describes (by default the same; null: no register map).
        described = manifest.get("register_map", self.registers)
        if described is not None:
            self.register_map = _RegisterMap(described)
        self._idle_polls = 0

    def write(self, offset, value):
        if offset == 0 and value & AUTO_RESTART:
            raise RuntimeError("emulator: auto-restart would make the tiled IP run the network "
                               "again on its own output; start each frame with ap_start (0x01)")
        super().write(offset, value)

    def read(self, offset=0):
        value = super().read(offset)
        if offset == 0 and not value & (AP_START | AP_DONE):
            self._idle_polls += 1
            if self._idle_polls > self.IDLE_POLLS:
                raise EmulatorHang("polling ap_done would never end: the IP is not started (write "
                                   "ap_start, 0x01, to its control register)")
        elif offset == 0:
            self._idle_polls = 0
        return value

    def _int(self, name):
        """A scalar int argument: its register as a signed 32-bit value."""
        value = self.regs.get(self.registers[name], 0)
        return value - (1 << 32) if value >= 1 << 31 else value

    def _memory(self, arg, nbytes):
        """(device bytes, first byte) of the buffer the IP's `arg` address points into."""
        lo, hi = self.registers[arg + "_1"], self.registers[arg + "_2"]
        address = self.regs.get(lo, 0) | self.regs.get(hi, 0) << 32
        for root in _LIVE.values():
            start = address - root._base_address
            if 0 <= start < root.nbytes:
                if root.nbytes - start < nbytes:
                    raise RuntimeError(f"emulator: the IP reads {nbytes} bytes of {arg} from "
                                       f"0x{address:x}, but its buffer holds {root.nbytes - start} "
                                       "bytes from there")
                return root._device, start
        raise RuntimeError(f"emulator: the IP's {arg} address 0x{address:x} (registers {arg}_1, "
                           f"{arg}_2) is in no live buffer from pynq.allocate()")

    def pump(self):
        if not self.ctrl & AP_START:
            self.ctrl |= AP_IDLE
            return
        self.ctrl &= ~AP_IDLE
        # The engine reads n_layers rows of the descriptor table (none if negative).
        need = dict(self.need, desc=max(self._int("n_layers"), 0) * self.need["desc"])
        call = []
        for name, is_buffer in self.args:
            if is_buffer:
                mem, start = self._memory(name, need[name])
                call.append(ctypes.c_void_p(mem.ctypes.data + start))
            else:
                call.append(ctypes.c_int(self._int(name)))
        self._lib.hlsgen_emu_tiled_start(*call)
        self.frames += 1
        self.ctrl = (self.ctrl & ~AP_START) | AP_DONE | AP_READY | AP_IDLE


class _Channel:
    """What both channels of a started simple-mode AXI DMA share."""

    running = True
    error = False

    def __init__(self, ip, align, max_size):
        self._ip, self._align, self._max = ip, align, max_size
        self.transferred = 0

    def start(self):
        pass

    def stop(self):
        pass

    def _begin(self, array, start, nbytes, what):
        if not self.idle:
            raise RuntimeError("DMA channel not idle")
        self.transferred = 0
        return _bytes_of(array, start, nbytes, self._max, self._align, what)


class _SendChannel(_Channel):
    """MM2S: memory -> the IP's input stream."""

    def __init__(self, ip, align, max_size):
        super().__init__(ip, align, max_size)
        self._pending = 0  # words of the last transfer the IP has not taken yet
        self._nbytes = 0

    @property
    def idle(self):
        self._ip.pump()
        self._pending = min(self._pending, len(self._ip.in_stream))
        return self._pending == 0

    def transfer(self, array, start=0, nbytes=0):
        mem, nbytes = self._begin(array, start, nbytes, "sendchannel")
        size = self._ip.in_bytes
        if nbytes % size:
            raise RuntimeError(f"emulator: a send of {nbytes} bytes is not a whole number of the "
                               f"IP's {size}-byte stream words")
        data = mem[start:start + nbytes].tobytes()
        words = nbytes // size
        for i in range(words):
            self._ip.in_stream.append((data[i * size:(i + 1) * size], i == words - 1))
        self._pending = words
        self._nbytes = nbytes
        self._ip.pump()

    def wait(self):
        if not self.idle:
            raise EmulatorHang(f"sendchannel.wait() would never return: {self._pending} words are "
                               f"still in the IP's input and {self._ip.why_stalled()}")
        self.transferred = self._nbytes


class _RecvChannel(_Channel):
    """S2MM: the IP's output stream -> memory; a transfer ends at TLAST."""

    def __init__(self, ip, align, max_size):
        super().__init__(ip, align, max_size)
        self._armed = None

    @property
    def idle(self):
        return self._armed is None

    def stop(self):
        self._armed = None

    def transfer(self, array, start=0, nbytes=0):
        mem, nbytes = self._begin(array, start, nbytes, "recvchannel")
        self._armed = (mem, start, nbytes)

    def wait(self):
        if self._armed is None:
            raise RuntimeError("recvchannel.wait() without a transfer")
        mem, start, nbytes = self._armed
        self._ip.pump()
        packet = []
        for word, last in self._ip.out_stream:
            packet.append(word)
            if last:
                break
        else:
            raise EmulatorHang("recvchannel.wait() would never return: no complete output "
                               f"packet (TLAST) arrives; {self._ip.why_stalled()}")
        data = b"".join(packet)
        if len(data) > nbytes:
            raise RuntimeError(f"DMA Internal Error: a {len(data)}-byte packet does not fit the "
                               f"{nbytes}-byte receive buffer")
        for _ in packet:
            self._ip.out_stream.popleft()
        mem[start:start + len(data)] = np.frombuffer(data, dtype=np.uint8)
        self.transferred = len(data)
        self._armed = None
        self._ip.pump()


class _DMA:
    def __init__(self, ip, manifest, limit=None):
        limit = limit or manifest["max_transfer"]
        # A DMA without a channel (several ports: more inputs than outputs, or
        # fewer) has no attribute for it, as pynq builds none.
        if manifest.get("mm2s_align"):
            self.sendchannel = _SendChannel(ip, manifest["mm2s_align"], limit)
        if manifest.get("s2mm_align"):
            self.recvchannel = _RecvChannel(ip, manifest["s2mm_align"], limit)
        self.buffer_max_size = limit


def _manifest(bitfile):
    try:
        with open(bitfile, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise RuntimeError(f"pynq emulator: {bitfile} is not an emulated overlay ({e})") from None
    if not isinstance(doc, dict) or doc.get("magic") != MAGIC:
        raise RuntimeError(f"pynq emulator: {bitfile} is not an emulated overlay")
    return doc


class Overlay:
    """Loads an emulated overlay; its IPs are attributes named like the
    block design's cells, as on a board."""

    def __init__(self, bitfile_name, dtbo=None, download=True, ignore_version=False,
                 device=None, gen_cache=False):
        bitfile = os.path.abspath(bitfile_name)
        if not os.path.isfile(os.path.splitext(bitfile)[0] + ".hwh"):
            raise ValueError(f"cannot find the .hwh file beside {bitfile}")
        manifest = _manifest(bitfile)
        here = os.path.dirname(bitfile)
        lib = ctypes.CDLL(os.path.join(here, manifest["library"]))
        self.bitfile_name = bitfile
        if manifest.get("arch") == "tiled":
            lib.hlsgen_emu_tiled_start.restype = None
            self._ips = {manifest["ip_cell"]: _TiledIP(lib, manifest)}
        else:
            lib.hlsgen_emu_start.restype = ctypes.c_int
            lib.hlsgen_emu_load_params(os.path.join(here, manifest["params"]).encode())
            if "dmas" in manifest:   # several AXI-Stream ports, a DMA per input/output pair
                n = (ctypes.c_uint32 * 2)()
                lib.hlsgen_emu_ports(n)
                geometry = (ctypes.c_uint32 * (2 * (n[0] + n[1])))()
                lib.hlsgen_emu_geometry(geometry)
                ip = _MultiIP(lib, n[0], n[1], tuple(geometry))
                self._ips = {x["cell"]: _DMA(_PortPair(ip, x["in"], x["out"]), x,
                                             manifest["max_transfer"]) for x in manifest["dmas"]}
                self._ips[manifest["ip_cell"]] = ip
            else:
                geometry = (ctypes.c_uint32 * 4)()
                lib.hlsgen_emu_geometry(geometry)
                ip = _IP(lib, tuple(geometry))
                self._ips = {manifest["dma_cell"]: _DMA(ip, manifest), manifest["ip_cell"]: ip}
        self.ip_dict = {k: {"type": type(v).__name__} for k, v in self._ips.items()}

    def __getattr__(self, key):
        ips = self.__dict__.get("_ips", {})
        if key in ips:
            return ips[key]
        raise AttributeError(f"overlay has no IP or attribute '{key}'")

    def is_loaded(self):
        return True

    def download(self, dtbo=None):
        pass
