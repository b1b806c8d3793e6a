"""A register-level fake I2C bus with simulated IMUs, for tests and fault drills.

Bytes are kept by device address and register, as the real chips answer: a driver that reads
the wrong register, swaps byte order or mis-scales fails its test. Like smbus2, block reads
over 32 bytes are refused (longer reads go through ``i2c_rdwr`` with ``smbus2.i2c_msg``
messages, as on the Pi), and an absent device raises OSError 121. Faults can be injected:
errors on the next transfers, a random error rate, a disconnect, a chip reset, a stuck or a
saturated axis.
"""
from __future__ import annotations

import ctypes
import errno
import random
import struct
from typing import Any, Sequence

BLOCK_MAX = 32


def _remote_io() -> OSError:
    return OSError(errno.EREMOTEIO, "Remote I/O error")


class FakeDevice:
    """A chip: 256 registers, auto-incrementing block reads, power-on values."""

    power_on: dict[int, int] = {}

    def __init__(self) -> None:
        self.regs = bytearray(256)
        self.writes: list[tuple[int, int]] = []
        self.power_cycle()

    def power_cycle(self) -> None:
        self.regs[:] = bytes(256)
        for reg, value in self.power_on.items():
            self.regs[reg] = value

    def read(self, reg: int) -> int:
        return self.regs[reg]

    def write(self, reg: int, value: int) -> None:
        self.writes.append((reg, value))
        self.regs[reg] = value & 0xFF

    def read_block(self, reg: int, length: int) -> list[int]:
        return [self.read((reg + i) & 0xFF) for i in range(length)]


class FakeMpu6050(FakeDevice):
    """MPU-6050 registers, FIFO (accel + gyro, 12 bytes a sample) and overflow flag."""

    power_on = {0x75: 0x68, 0x6B: 0x40}  # WHO_AM_I; PWR_MGMT_1 = SLEEP

    def __init__(self, who_am_i: int = 0x68, fifo_bytes: int = 1024):
        self.who_am_i, self.fifo_bytes = who_am_i, fifo_bytes
        super().__init__()

    def power_cycle(self) -> None:
        super().power_cycle()
        self.regs[0x75] = self.who_am_i
        self.fifo = bytearray()
        self.stuck_axis: int | None = None
        self.saturated_axis: int | None = None

    def write(self, reg: int, value: int) -> None:
        super().write(reg, value)
        if reg == 0x6B and value & 0x80:  # DEVICE_RESET: back to power-on values, asleep
            self.power_cycle()
        elif reg == 0x6A and value & 0x04:  # FIFO_RESET
            self.fifo.clear()
            self.regs[0x6A] = value & ~0x04

    @property
    def accel_lsb_per_g(self) -> float:
        return 16384.0 / (2 << ((self.regs[0x1C] >> 3) & 3)) * 2

    @property
    def gyro_lsb_per_dps(self) -> float:
        return (131.0, 65.5, 32.8, 16.4)[(self.regs[0x1B] >> 3) & 3]

    def push(self, accel_g: Sequence[float], gyro_dps: Sequence[float]) -> None:
        """One sample from the sensing element, at the configured ranges."""
        if self.regs[0x6B] & 0x40:  # asleep: nothing is measured
            return
        raw = [round(v * self.accel_lsb_per_g) for v in accel_g] + [round(v * self.gyro_lsb_per_dps) for v in gyro_dps]
        raw = [max(-32768, min(32767, v)) for v in raw]
        if self.stuck_axis is not None:
            raw[self.stuck_axis] = 1234
        if self.saturated_axis is not None:
            raw[self.saturated_axis] = 32767
        data = struct.pack(">6h", *raw)
        # Data registers: accel (6), temperature (2), gyro (6).
        self.regs[0x3B:0x41] = data[:6]
        self.regs[0x43:0x49] = data[6:]
        if self.regs[0x6A] & 0x40 and self.regs[0x23] == 0x78:
            self.fifo += data
            if len(self.fifo) > self.fifo_bytes:
                # FIFO_OFLOW_INT; the oldest bytes are overwritten, so the count stays at
                # 1024 and the samples no longer start on a 12-byte boundary.
                self.regs[0x3A] |= 0x10
                del self.fifo[:len(self.fifo) - self.fifo_bytes]
        self.regs[0x3A] |= 0x01

    def read(self, reg: int) -> int:
        if reg == 0x74:  # FIFO_R_W: the next FIFO byte
            if not self.fifo:
                return 0
            b = self.fifo[0]
            del self.fifo[0]
            return b
        if reg == 0x72:
            return (len(self.fifo) >> 8) & 0xFF
        if reg == 0x73:
            return len(self.fifo) & 0xFF
        value = self.regs[reg]
        if reg == 0x3A:
            self.regs[0x3A] = 0  # INT_STATUS clears on read
        return value

    def read_block(self, reg: int, length: int) -> list[int]:
        if reg == 0x74:  # a burst from FIFO_R_W keeps reading the FIFO
            return [self.read(0x74) for _ in range(length)]
        return super().read_block(reg, length)


class FakeLsm6dsox(FakeDevice):
    """LSM6DSOX registers: data-ready status, little-endian outputs (gyro, then accel) and,
    for the tagged-FIFO parts (WHO_AM_I 0x6C, 0x6B), the FIFO: 7-byte words (tag, X, Y, Z),
    a gyro and an accel word per time slot, word count and overrun flags in FIFO_STATUS1/2.
    ``who_am_i=0x69`` (LSM6DS3) or 0x6A (LSM6DSL) gives a part without that FIFO."""

    power_on = {0x0F: 0x6C, 0x12: 0x04}

    FS_XL_MG = {0: 0.061, 2: 0.122, 3: 0.244, 1: 0.488}
    FS_G_MDPS = {0: 8.75, 1: 17.5, 2: 35.0, 3: 70.0}
    FIFO_WORDS = 512

    def __init__(self, who_am_i: int = 0x6C, gyro_first: bool = True):
        self.who_am_i, self.gyro_first = who_am_i, gyro_first
        super().__init__()

    def power_cycle(self) -> None:
        super().power_cycle()
        self.regs[0x0F] = self.who_am_i
        self.fifo: list[bytes] = []
        self._slot = 0
        self._ovr_latched = False
        self.stuck_axis: int | None = None       # 0..5 = ax, ay, az, gx, gy, gz as in Sample
        self.saturated_axis: int | None = None

    @property
    def tagged_fifo(self) -> bool:
        return self.who_am_i in (0x6C, 0x6B)

    def write(self, reg: int, value: int) -> None:
        super().write(reg, value)
        if reg == 0x12 and value & 0x01:
            self.power_cycle()
        elif reg == 0x0A and value & 0x07 == 0:  # bypass mode empties the FIFO
            self.fifo.clear()
            self._ovr_latched = False

    def push(self, accel_g: Sequence[float], gyro_dps: Sequence[float]) -> None:
        if self.regs[0x10] >> 4 == 0:  # powered down
            return
        ka = self.FS_XL_MG[(self.regs[0x10] >> 2) & 3] / 1000.0
        kg = self.FS_G_MDPS[(self.regs[0x11] >> 2) & 3] / 1000.0
        raw = [round(v / ka) for v in accel_g] + [round(v / kg) for v in gyro_dps]
        raw = [max(-32768, min(32767, v)) for v in raw]
        if self.stuck_axis is not None:
            raw[self.stuck_axis] = 1234
        if self.saturated_axis is not None:
            raw[self.saturated_axis] = 32767
        accel, gyro = struct.pack("<3h", *raw[:3]), struct.pack("<3h", *raw[3:])
        self.regs[0x22:0x2E] = gyro + accel
        self.regs[0x1E] |= 0x03
        if self.tagged_fifo and self.regs[0x0A] & 0x07 == 0x06 and self.regs[0x09]:
            g = bytes([(0x01 << 3) | (self._slot << 1)]) + gyro
            a = bytes([(0x02 << 3) | (self._slot << 1)]) + accel
            self.fifo += [g, a] if self.gyro_first else [a, g]
            self._slot = (self._slot + 1) & 3
            if len(self.fifo) > self.FIFO_WORDS:  # continuous mode: the oldest words go
                del self.fifo[:len(self.fifo) - self.FIFO_WORDS]
                self._ovr_latched = True

    def read(self, reg: int) -> int:
        if reg == 0x3A:  # FIFO_STATUS1: DIFF_FIFO[7:0]
            return len(self.fifo) & 0xFF
        if reg == 0x3B:  # FIFO_STATUS2: OVR_IA (full), OVR_LATCHED (clears on read), DIFF[9:8]
            full = len(self.fifo) >= self.FIFO_WORDS
            value = (0x40 if full else 0) | (0x08 if self._ovr_latched else 0) | ((len(self.fifo) >> 8) & 0x03)
            self._ovr_latched = False
            return value
        return super().read(reg)

    def read_block(self, reg: int, length: int) -> list[int]:
        if reg == 0x78:
            # FIFO_DATA_OUT_TAG..Z_H: the address rolls back to 0x78 after each word, and
            # reading a word's last byte takes it out of the FIFO.
            out: list[int] = []
            while len(out) < length:
                word = self.fifo[0] if self.fifo else bytes(7)
                take = min(7, length - len(out))
                out += list(word[:take])
                if take == 7 and self.fifo:
                    self.fifo.pop(0)
            return out
        data = super().read_block(reg, length)
        if reg == 0x22:
            self.regs[0x1E] &= ~0x03  # reading the outputs clears data-ready
        return data


class FakeBus:
    """smbus2-like bus holding fake devices by address, with injectable faults."""

    def __init__(self, devices: dict[int, FakeDevice] | None = None, seed: int = 0):
        self.devices = dict(devices or {})
        self.fail_next = 0            # the next N transfers raise OSError
        self.fail_errno = errno.EREMOTEIO
        self.error_rate = 0.0         # probability of an OSError on any transfer
        self.disconnected = False     # every transfer fails (cable out)
        self.transfers = 0
        self.rdwr_reads = 0
        self._rng = random.Random(seed)

    def _device(self, addr: int) -> FakeDevice:
        self.transfers += 1
        if self.disconnected:
            raise _remote_io()
        if self.fail_next > 0:
            self.fail_next -= 1
            raise OSError(self.fail_errno, "injected I2C fault")
        if self.error_rate and self._rng.random() < self.error_rate:
            raise OSError(self._rng.choice([errno.EREMOTEIO, errno.EIO]), "injected I2C fault")
        dev = self.devices.get(addr)
        if dev is None:
            raise _remote_io()
        return dev

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        return self._device(i2c_addr).read(register)

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        self._device(i2c_addr).write(register, value)

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        if length > BLOCK_MAX:
            raise ValueError(f"Desired block length over {BLOCK_MAX} bytes")
        return self._device(i2c_addr).read_block(register, length)

    def i2c_rdwr(self, *msgs: Any) -> None:
        """Combined transfer, as smbus2's: ``i2c_msg.write(addr, [reg])`` then
        ``i2c_msg.read(addr, n)`` reads ``n`` bytes from ``reg`` on (any length). One transfer
        for fault injection; the read buffer is filled in place."""
        if not msgs:
            return
        dev = self._device(msgs[0].addr)
        self.rdwr_reads += 1
        pointer = 0
        for m in msgs:
            if m.flags & 0x0001:  # I2C_M_RD
                data = bytes(dev.read_block(pointer, m.len))
                ctypes.memmove(m.buf, data, m.len)
            else:
                payload = bytes(m)
                pointer = payload[0]
                for i, value in enumerate(payload[1:]):
                    dev.write((pointer + i) & 0xFF, value)

    def close(self) -> None:
        pass


class FakeTime:
    """A clock whose ``sleep`` lets simulated time pass and the fake chip measure meanwhile.

    ``source`` yields (accel_g, gyro_dps) tuples, one per sample at ``rate_hz``; ``jitter``
    stretches every sleep by up to that fraction (Python's scheduling is never exact).
    ``hooks`` ((t, callable) pairs) let a test inject faults at given sample times; a hook may
    also add to ``now_s`` (the program stalled): the chip measures on through that time.
    """

    def __init__(self, device: FakeDevice, source, rate_hz: float, jitter: float = 0.0, seed: int = 1):
        self.device, self.source, self.rate_hz, self.jitter = device, iter(source), rate_hz, jitter
        self.now_s = 0.0
        self._measured = 0
        self._rng = random.Random(seed)
        self.exhausted = False
        self.on_exhausted = None  # e.g. a sampler's stop(): the recording is over
        self.hooks: list[tuple[float, object]] = []

    def clock(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        self.now_s += seconds * (1.0 + self._rng.random() * self.jitter)
        while self._measured < int(self.now_s * self.rate_hz):  # a hook may let time pass too
            t = self._measured / self.rate_hz
            for when, hook in list(self.hooks):
                if t >= when:
                    self.hooks.remove((when, hook))
                    hook()  # type: ignore[operator]
            try:
                accel, gyro = next(self.source)
            except StopIteration:
                if not self.exhausted and self.on_exhausted is not None:
                    self.on_exhausted()
                self.exhausted = True
                return
            self.device.push(accel, gyro)  # type: ignore[attr-defined]
            self._measured += 1
