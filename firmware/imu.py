"""IMU drivers on an smbus2-style bus, register level.

Each driver takes its bus as a parameter: anything with smbus2's ``SMBus`` methods
(``read_byte_data``, ``write_byte_data``, ``read_i2c_block_data`` of at most 32 bytes). Tests
pass :class:`firmware.fakebus.FakeBus`; the device program passes ``smbus2.SMBus(1)``.

Wiring (Raspberry Pi 40-pin header): 3V3 pin 1, GND pin 9, SDA pin 3 (GPIO2), SCL pin 5
(GPIO3). Readings come out in g (accelerometer, +1 g up at rest) and deg/s (gyroscope).
"""
from __future__ import annotations

import logging
import struct
import time
from typing import Callable, Protocol

log = logging.getLogger("calfcount.imu")

BLOCK_MAX = 32  # bytes in one SMBus block read


class I2CBus(Protocol):
    def read_byte_data(self, i2c_addr: int, register: int) -> int: ...
    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None: ...
    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]: ...


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

    def fifo_count(self) -> int:
        """Whole samples waiting in the FIFO."""
        hi, lo = self.bus.read_i2c_block_data(self.address, self.FIFO_COUNTH, 2)
        return ((hi << 8) | lo) // self.SAMPLE_BYTES

    def read_fifo(self, n: int) -> list[RawSample]:
        """Read ``n`` whole samples, oldest first, in block reads of at most 24 bytes."""
        out: list[RawSample] = []
        per_read = BLOCK_MAX // self.SAMPLE_BYTES  # 2 samples (24 bytes) a transfer
        while len(out) < n:
            k = min(per_read, n - len(out))
            data = self.bus.read_i2c_block_data(self.address, self.FIFO_R_W, k * self.SAMPLE_BYTES)
            for i in range(k):
                out.append(self._decode(bytes(data[i * 12:(i + 1) * 12])))
        return out

    def read_now(self) -> RawSample:
        """The latest sample from the data registers, all axes in one burst (14 bytes)."""
        data = bytes(self.bus.read_i2c_block_data(self.address, self.ACCEL_XOUT_H, 14))
        return self._decode(data[:6] + data[8:14])

    def _decode(self, b: bytes) -> RawSample:
        ax, ay, az, gx, gy, gz = struct.unpack(">6h", b)  # big-endian, signed
        ka, kg = self.accel_lsb_per_g, self.gyro_lsb_per_dps
        return (ax / ka, ay / ka, az / ka, gx / kg, gy / kg, gz / kg)


class Lsm6dsox:
    """ST LSM6DSOX / LSM6DSO / LSM6DSL / LSM6DS3, sampled on its data-ready flag.

    Chosen as the current part: it is what Adafruit's and Pimoroni's 3.3 V Pi breakouts carry
    (LSM6DSOX, LSM6DS3TR-C), has lower noise and a wider, exactly specified set of output rates
    than the MPU-6050. Address 0x6A (SDO low) or 0x6B (SDO high).
    """

    WHO_AM_I, CTRL1_XL, CTRL2_G, CTRL3_C, STATUS_REG, OUTX_L_G = 0x0F, 0x10, 0x11, 0x12, 0x1E, 0x22
    FAMILY = {0x69: "LSM6DS3", 0x6A: "LSM6DSL/LSM6DS3TR-C", 0x6C: "LSM6DSO/LSM6DSOX", 0x6B: "LSM6DSR"}
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
        self.fifo_bytes = 0

    def configure(self) -> None:
        a, w = self.address, self.bus.write_byte_data
        w(a, self.CTRL3_C, 0x01)  # SW_RESET
        self._sleep(0.02)
        w(a, self.CTRL3_C, 0x44)  # BDU (no mixed high/low bytes) + register auto-increment
        w(a, self.CTRL1_XL, (self.odr_code << 4) | (self.ACCEL_RANGES_G[self.accel_range_g][0] << 2))
        w(a, self.CTRL2_G, (self.odr_code << 4) | (self.GYRO_RANGES_DPS[self.gyro_range_dps][0] << 2))

    def was_reset(self) -> bool:
        xl, g, c3 = self.bus.read_i2c_block_data(self.address, self.CTRL1_XL, 3)
        return (xl != (self.odr_code << 4) | (self.ACCEL_RANGES_G[self.accel_range_g][0] << 2)
                or g != (self.odr_code << 4) | (self.GYRO_RANGES_DPS[self.gyro_range_dps][0] << 2)
                or not c3 & 0x40)

    def data_ready(self) -> bool:
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
