"""IMU drivers on an smbus2-style bus, register level.

Each driver takes its bus as a parameter: anything with smbus2's ``SMBus`` methods
(``read_byte_data``, ``write_byte_data``, ``read_i2c_block_data`` of at most 32 bytes and, for
FIFO reads longer than that, ``i2c_rdwr`` with ``smbus2.i2c_msg``). Tests pass
:class:`firmware.fakebus.FakeBus`; the device program passes ``smbus2.SMBus(1)``.

Both drivers offer the same FIFO interface to the sampler: ``configure()``, ``was_reset()``,
``fifo_status() -> (entries waiting, overflowed)``, ``read_fifo(entries) -> samples``,
``reset_fifo()``; ``has_fifo`` is False only for the older LSM6DS3/LSM6DSL, which are read on
their data-ready flag (``data_ready()``, ``read_now()``).

Wiring (Raspberry Pi 40-pin header): 3V3 pin 1, GND pin 9, SDA pin 3 (GPIO2), SCL pin 5
(GPIO3). Readings come out in g (accelerometer, +1 g up at rest) and deg/s (gyroscope).
"""
from __future__ import annotations

import logging
import struct
import time
from typing import Any, Callable, Protocol

log = logging.getLogger("calfcount.imu")

BLOCK_MAX = 32  # bytes in one SMBus block read


class I2CBus(Protocol):
    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...
    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...
    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...


def _msg_class(bus: object) -> Any:
    """smbus2's ``i2c_msg`` when the bus can do combined transfers (``i2c_rdwr``), else None."""
    if not callable(getattr(bus, "i2c_rdwr", None)):
        return None
    try:
        from smbus2 import i2c_msg
    except ImportError:  # a bus object from elsewhere without smbus2: block reads only
        return None
    return i2c_msg


def burst_read(bus: I2CBus, msg: Any, address: int, register: int, length: int, unit: int) -> bytes:
    """``length`` bytes from ``register`` onwards in one transfer when ``i2c_rdwr`` is there
    (write the register, repeated start, read ``length``), else in SMBus block reads of whole
    ``unit``-byte records (at most 32 bytes each)."""
    if msg is not None and length > BLOCK_MAX:
        write, read = msg.write(address, [register]), msg.read(address, length)
        bus.i2c_rdwr(write, read)  # type: ignore[attr-defined]
        return bytes(read)
    out = bytearray()
    per = max(1, BLOCK_MAX // unit) * unit
    while len(out) < length:
        out += bytes(bus.read_i2c_block_data(address, register, min(per, length - len(out))))
    return bytes(out)


class ImuError(RuntimeError):
    """The IMU is missing, is not a supported chip, or does not answer as it should."""


RawSample = tuple[float, float, float, float, float, float]  # ax_g, ay_g, az_g, gx_dps, gy_dps, gz_dps


def _check_settings(chip: object, accel_range_g: int, gyro_range_dps: int, rate_hz: float) -> None:
    ranges_g, ranges_dps = chip.ACCEL_RANGES_G, chip.GYRO_RANGES_DPS  # type: ignore[attr-defined]
    if accel_range_g not in ranges_g:
        raise ValueError(f"accel_range_g must be one of {sorted(ranges_g)}, got {accel_range_g}")
    if gyro_range_dps not in ranges_dps:
        raise ValueError(f"gyro_range_dps must be one of {sorted(ranges_dps)}, got {gyro_range_dps}")
    if not 25 <= rate_hz <= 400:
        raise ValueError(f"rate_hz must be within 25..400, got {rate_hz}")


class Mpu6050:
    """InvenSense MPU-6050 (and MPU-6500/9250/9255 and common clones), FIFO-sampled.

    The FIFO holds accel + gyro (12 bytes a sample), so samples are spaced by the chip's clock,
    not by Python's scheduling. Address 0x68 (AD0 low) or 0x69 (AD0 high).
    """

    WHO_AM_I = 0x75
    SMPLRT_DIV, CONFIG, GYRO_CONFIG, ACCEL_CONFIG, FIFO_EN = 0x19, 0x1A, 0x1B, 0x1C, 0x23
    INT_STATUS, ACCEL_XOUT_H, USER_CTRL, PWR_MGMT_1 = 0x3A, 0x3B, 0x6A, 0x6B
    FIFO_COUNTH, FIFO_R_W = 0x72, 0x74
    FAMILY = {0x68: ("MPU-6050", 1024), 0x98: ("MPU-6050 clone", 1024), 0x72: ("MPU-6050 clone", 1024),
              0x70: ("MPU-6500", 512), 0x71: ("MPU-9250", 512), 0x73: ("MPU-9255", 512)}
    ACCEL_RANGES_G = {2: 0, 4: 1, 8: 2, 16: 3}
    GYRO_RANGES_DPS = {250: 0, 500: 1, 1000: 2, 2000: 3}
    GYRO_LSB_PER_DPS = {250: 131.0, 500: 65.5, 1000: 32.8, 2000: 16.4}  # datasheet
    SAMPLE_BYTES = 12
    # DLPF_CFG by sample rate: bandwidth below Nyquist, as little lag as that allows.
    _DLPF = ((400, 1), (200, 2), (100, 3), (50, 4), (0, 5))  # 188, 98, 42, 20, 10 Hz

    def __init__(self, bus: I2CBus, address: int = 0x68, rate_hz: float = 100.0,
                 accel_range_g: int = 4, gyro_range_dps: int = 500,
                 sleep: Callable[[float], None] = time.sleep):
        _check_settings(self, accel_range_g, gyro_range_dps, rate_hz)
        self.bus, self.address, self._sleep = bus, address, sleep
        self.accel_range_g, self.gyro_range_dps = accel_range_g, gyro_range_dps
        self.divider = max(0, min(255, round(1000.0 / rate_hz) - 1))
        self.rate_hz = 1000.0 / (1 + self.divider)  # what the chip will really do
        self.accel_lsb_per_g = 32768.0 / accel_range_g  # 16384 LSB/g at +-2 g
        self.gyro_lsb_per_dps = self.GYRO_LSB_PER_DPS[gyro_range_dps]
        self.chip, self.fifo_bytes = self.identify()
        self.has_fifo = True
        self._msg = _msg_class(bus)

    def identify(self) -> tuple[str, int]:
        who = self.bus.read_byte_data(self.address, self.WHO_AM_I)
        if who not in self.FAMILY:
            raise ImuError(f"chip at 0x{self.address:02x} answers WHO_AM_I 0x{who:02x}, not an MPU-6050 family part")
        name, fifo = self.FAMILY[who]
        if who != 0x68:
            log.warning("IMU at 0x%02x is a %s (WHO_AM_I 0x%02x); using it as an MPU-6050", self.address, name, who)
        return name, fifo

    @property
    def fifo_capacity(self) -> int:
        return self.fifo_bytes // self.SAMPLE_BYTES

    def configure(self) -> None:
        """Reset and set up rate, ranges, low-pass filter and the FIFO."""
        a, w = self.address, self.bus.write_byte_data
        w(a, self.PWR_MGMT_1, 0x80)  # DEVICE_RESET
        self._sleep(0.1)
        w(a, self.PWR_MGMT_1, 0x01)  # awake (SLEEP clear), clock from the X gyro PLL
        self._sleep(0.01)
        w(a, self.SMPLRT_DIV, self.divider)
        dlpf = next(code for min_rate, code in self._DLPF if self.rate_hz >= min_rate)
        config = self.bus.read_byte_data(a, self.CONFIG)
        # DLPF_CFG is bits 2:0; bits 5:3 are EXT_SYNC_SET and must be kept.
        w(a, self.CONFIG, (config & ~0x07) | dlpf)
        w(a, self.GYRO_CONFIG, self.GYRO_RANGES_DPS[self.gyro_range_dps] << 3)
        w(a, self.ACCEL_CONFIG, self.ACCEL_RANGES_G[self.accel_range_g] << 3)
        self.reset_fifo()

    def reset_fifo(self, attempts: int = 3) -> None:
        """Empty the FIFO and start filling it again. The four writes are retried as a whole:
        stopping half-way would leave the FIFO off."""
        a, w = self.address, self.bus.write_byte_data
        for attempt in range(attempts):
            try:
                w(a, self.FIFO_EN, 0x00)
                w(a, self.USER_CTRL, 0x04)  # FIFO_RESET
                w(a, self.USER_CTRL, 0x40)  # FIFO enabled
                w(a, self.FIFO_EN, 0x78)  # accel xyz (0x08) + gyro xyz (0x70)
                return
            except OSError:
                if attempt == attempts - 1:
                    raise

    def was_reset(self) -> bool:
        """True when the chip lost its setup (brown-out or reset: asleep again, FIFO off, or
        rate and ranges not what we wrote)."""
        pwr = self.bus.read_byte_data(self.address, self.PWR_MGMT_1)
        fifo_en = self.bus.read_byte_data(self.address, self.FIFO_EN)
        div, _, gyro, accel = self.bus.read_i2c_block_data(self.address, self.SMPLRT_DIV, 4)
        return (bool(pwr & 0x40) or fifo_en != 0x78 or div != self.divider
                or gyro != self.GYRO_RANGES_DPS[self.gyro_range_dps] << 3
                or accel != self.ACCEL_RANGES_G[self.accel_range_g] << 3)

    def overflowed(self) -> bool:
        """FIFO overflow flag (reading INT_STATUS clears it)."""
        return bool(self.bus.read_byte_data(self.address, self.INT_STATUS) & 0x10)

    def fifo_bytes_waiting(self) -> int:
        hi, lo = self.bus.read_i2c_block_data(self.address, self.FIFO_COUNTH, 2)
        return (hi << 8) | lo

    def fifo_count(self) -> int:
        """Whole samples waiting in the FIFO."""
        return self.fifo_bytes_waiting() // self.SAMPLE_BYTES

    def fifo_status(self) -> tuple[int, bool]:
        """(whole samples waiting, overflowed). Overflowed: the INT_STATUS flag, or a FIFO at
        capacity (it then overwrites its oldest bytes, and 1024 is no multiple of 12)."""
        flag = self.overflowed()
        waiting = self.fifo_bytes_waiting()
        return waiting // self.SAMPLE_BYTES, flag or waiting >= self.fifo_bytes

    def read_fifo(self, n: int) -> list[RawSample]:
        """Read ``n`` whole samples (12 bytes each: accel xyz, gyro xyz), oldest first: one
        ``i2c_rdwr`` transfer, or 24-byte block reads on a bus without it."""
        if n <= 0:
            return []
        data = burst_read(self.bus, self._msg, self.address, self.FIFO_R_W, n * self.SAMPLE_BYTES, self.SAMPLE_BYTES)
        return [self._decode(data[i:i + 12]) for i in range(0, n * 12, 12)]

    def read_now(self) -> RawSample:
        """The latest sample from the data registers, all axes in one burst (14 bytes)."""
        data = bytes(self.bus.read_i2c_block_data(self.address, self.ACCEL_XOUT_H, 14))
        return self._decode(data[:6] + data[8:14])

    def _decode(self, b: bytes) -> RawSample:
        ax, ay, az, gx, gy, gz = struct.unpack(">6h", b)  # big-endian, signed
        ka, kg = self.accel_lsb_per_g, self.gyro_lsb_per_dps
        return (ax / ka, ay / ka, az / ka, gx / kg, gy / kg, gz / kg)


class Lsm6dsox:
    """ST LSM6DSOX / LSM6DSO / LSM6DSR (FIFO-sampled) and LSM6DS3 / LSM6DSL (data-ready polled).

    Why this family as the second part: it is what the common 3.3 V Pi breakouts carry
    (Adafruit's and Pimoroni's LSM6DSOX and LSM6DS3TR-C boards, no level shifting needed), it
    has lower noise and exactly specified output rates, and the LSM6DSO/DSOX/DSR have a large
    tagged FIFO (512 words), so samples are spaced by the chip's clock as with the MPU-6050.
    Wiring as the MPU-6050; address 0x6A (SDO/SA0 low) or 0x6B (SDO high).

    Output data rates are the chip's own (12.5, 26, 52, 104, 208, 416 Hz): the nearest at or
    above the request is used (104 Hz for 100) and ``rate_hz`` says which. Outputs are
    little-endian; readings come out in g and deg/s.
    """

    WHO_AM_I, CTRL1_XL, CTRL2_G, CTRL3_C, STATUS_REG, OUTX_L_G = 0x0F, 0x10, 0x11, 0x12, 0x1E, 0x22
    FIFO_CTRL3, FIFO_CTRL4, FIFO_STATUS1, FIFO_DATA_OUT_TAG = 0x09, 0x0A, 0x3A, 0x78
    FIFO_CONTINUOUS = 0x06
    TAG_GYRO, TAG_ACCEL = 0x01, 0x02
    WORD_BYTES = 7  # tag + X, Y, Z (little-endian 16 bit)
    FIFO_WORDS = 512
    FAMILY = {0x69: "LSM6DS3", 0x6A: "LSM6DSL/LSM6DS3TR-C", 0x6C: "LSM6DSO/LSM6DSOX", 0x6B: "LSM6DSR"}
    TAGGED_FIFO = (0x6C, 0x6B)  # the DS3/DSL FIFO is a different design: those are polled
    ODR_CODES = ((12.5, 1), (26, 2), (52, 3), (104, 4), (208, 5), (416, 6))
    ACCEL_RANGES_G = {2: (0, 0.061), 4: (2, 0.122), 8: (3, 0.244), 16: (1, 0.488)}  # code, mg/LSB
    GYRO_RANGES_DPS = {250: (0, 8.75), 500: (1, 17.5), 1000: (2, 35.0), 2000: (3, 70.0)}  # code, mdps/LSB

    def __init__(self, bus: I2CBus, address: int = 0x6A, rate_hz: float = 100.0,
                 accel_range_g: int = 4, gyro_range_dps: int = 500,
                 sleep: Callable[[float], None] = time.sleep):
        _check_settings(self, accel_range_g, gyro_range_dps, rate_hz)
        self.bus, self.address, self._sleep = bus, address, sleep
        self.accel_range_g, self.gyro_range_dps = accel_range_g, gyro_range_dps
        # The nearest standard rate at or above the request (104 Hz for 100 Hz).
        self.rate_hz, self.odr_code = next((r, c) for r, c in self.ODR_CODES if r >= rate_hz * 0.98)
        self.accel_g_per_lsb = self.ACCEL_RANGES_G[accel_range_g][1] / 1000.0
        self.gyro_dps_per_lsb = self.GYRO_RANGES_DPS[gyro_range_dps][1] / 1000.0
        who = bus.read_byte_data(address, self.WHO_AM_I)
        if who not in self.FAMILY:
            raise ImuError(f"chip at 0x{address:02x} answers WHO_AM_I 0x{who:02x}, not an LSM6DS family part")
        self.chip = self.FAMILY[who]
        self.has_fifo = who in self.TAGGED_FIFO
        self.fifo_bytes = self.FIFO_WORDS * self.WORD_BYTES if self.has_fifo else 0
        self.words_dropped = 0  # FIFO words that found no partner (accel without gyro or back)
        self._msg = _msg_class(bus)
        self._pending: dict[int, tuple[int, tuple[int, int, int]]] = {}

    @property
    def fifo_capacity(self) -> int:
        """Samples (an accel and a gyro word each) the FIFO holds; 1 when polled."""
        return self.FIFO_WORDS // 2 if self.has_fifo else 1

    def _ctrl(self) -> tuple[int, int]:
        return ((self.odr_code << 4) | (self.ACCEL_RANGES_G[self.accel_range_g][0] << 2),
                (self.odr_code << 4) | (self.GYRO_RANGES_DPS[self.gyro_range_dps][0] << 2))

    def configure(self) -> None:
        """Software reset, then rate and ranges; on FIFO parts batch accel and gyro at the
        output rate into the FIFO in continuous mode."""
        a, w = self.address, self.bus.write_byte_data
        w(a, self.CTRL3_C, 0x01)  # SW_RESET
        self._sleep(0.02)
        w(a, self.CTRL3_C, 0x44)  # BDU (no mixed high/low bytes) + register auto-increment
        xl, g = self._ctrl()
        w(a, self.CTRL1_XL, xl)
        w(a, self.CTRL2_G, g)
        if self.has_fifo:
            w(a, self.FIFO_CTRL3, (self.odr_code << 4) | self.odr_code)  # BDR_GY, BDR_XL
            self.reset_fifo()

    def reset_fifo(self) -> None:
        """Empty the FIFO (bypass mode) and start it again (continuous mode)."""
        self._pending.clear()
        if self.has_fifo:
            self.bus.write_byte_data(self.address, self.FIFO_CTRL4, 0x00)
            self.bus.write_byte_data(self.address, self.FIFO_CTRL4, self.FIFO_CONTINUOUS)

    def was_reset(self) -> bool:
        """True when the chip lost its setup (a power glitch puts it back to power-on values)."""
        xl, g, c3 = self.bus.read_i2c_block_data(self.address, self.CTRL1_XL, 3)
        lost = (xl, g) != self._ctrl() or not c3 & 0x40
        if self.has_fifo and not lost:
            bdr, mode = self.bus.read_i2c_block_data(self.address, self.FIFO_CTRL3, 2)
            lost = bdr != (self.odr_code << 4) | self.odr_code or mode & 0x07 != self.FIFO_CONTINUOUS
        return lost

    def fifo_status(self) -> tuple[int, bool]:
        """(FIFO words waiting, overflowed), from FIFO_STATUS1/2 in one read. Overflowed:
        FIFO_OVR_IA (full now) or FIFO_OVR_LATCHED (was full since the last look)."""
        s1, s2 = self.bus.read_i2c_block_data(self.address, self.FIFO_STATUS1, 2)
        return s1 | ((s2 & 0x03) << 8), bool(s2 & 0x48)

    def read_fifo(self, words: int) -> list[RawSample]:
        """Read ``words`` FIFO words (7 bytes each, from FIFO_DATA_OUT_TAG; the address rolls
        back after each word) and pair accel and gyro words of the same time slot (TAG_CNT)
        into samples, oldest first. A word whose partner is still in the FIFO waits for the
        next read."""
        if words <= 0:
            return []
        n = words * self.WORD_BYTES
        data = burst_read(self.bus, self._msg, self.address, self.FIFO_DATA_OUT_TAG, n, self.WORD_BYTES)
        out: list[RawSample] = []
        ka, kg = self.accel_g_per_lsb, self.gyro_dps_per_lsb
        for i in range(0, n, self.WORD_BYTES):
            tag, slot = data[i] >> 3, (data[i] >> 1) & 0x03
            if tag not in (self.TAG_GYRO, self.TAG_ACCEL):
                continue  # timestamp, temperature, config change: not batched here, skip
            xyz = struct.unpack_from("<3h", data, i + 1)
            other = self.TAG_ACCEL if tag == self.TAG_GYRO else self.TAG_GYRO
            if other in self._pending and self._pending[other][0] == slot:
                _, oxyz = self._pending.pop(other)
                (ax, ay, az), (gx, gy, gz) = (xyz, oxyz) if tag == self.TAG_ACCEL else (oxyz, xyz)
                out.append((ax * ka, ay * ka, az * ka, gx * kg, gy * kg, gz * kg))
                continue
            if self._pending:  # an unpaired word from an older slot: its partner was lost
                self.words_dropped += len(self._pending)
                self._pending.clear()
            self._pending[tag] = (slot, xyz)
        return out

    def data_ready(self) -> bool:
        """Both a new accel and a new gyro reading are waiting (STATUS_REG XLDA and GDA)."""
        return (self.bus.read_byte_data(self.address, self.STATUS_REG) & 0x03) == 0x03

    def read_now(self) -> RawSample:
        """Gyro then accel, 12 bytes in one burst from OUTX_L_G, little-endian signed."""
        gx, gy, gz, ax, ay, az = struct.unpack("<6h", bytes(self.bus.read_i2c_block_data(self.address, self.OUTX_L_G, 12)))
        ka, kg = self.accel_g_per_lsb, self.gyro_dps_per_lsb
        return (ax * ka, ay * ka, az * ka, gx * kg, gy * kg, gz * kg)


Imu = Mpu6050 | Lsm6dsox


def detect(bus: I2CBus, bus_name: str = "/dev/i2c-1", address: int | None = None, **kw: object) -> Imu:
    """Find the IMU by its WHO_AM_I at the usual addresses (or only at ``address``)."""
    candidates = [(a, Mpu6050) for a in (0x68, 0x69)] + [(a, Lsm6dsox) for a in (0x6A, 0x6B)]
    if address is not None:
        candidates = [(a, cls) for a, cls in candidates if a == address]
        if not candidates:
            raise ImuError(f"0x{address:02x} is not an IMU address calfcount knows (0x68, 0x69, 0x6a, 0x6b)")
    wrong = []
    for addr, cls in candidates:
        try:
            return cls(bus, addr, **kw)  # type: ignore[arg-type]
        except OSError:
            continue
        except ImuError as e:
            wrong.append(str(e))
    tried = "/".join(f"0x{a:02x}" for a, _ in candidates)
    if wrong:
        raise ImuError("; ".join(wrong) + f" (on {bus_name})")
    raise ImuError(f"no IMU answered at {tried} on {bus_name}: check wiring and that I2C is enabled "
                   "(sudo raspi-config nonint do_i2c 0)")
