"""IMU drivers against the register-level fake bus."""
from __future__ import annotations

import errno

import pytest

from firmware.fakebus import BLOCK_MAX, FakeBus, FakeLsm6dsox, FakeMpu6050
from firmware.imu import ImuError, Lsm6dsox, Mpu6050, detect


def _mpu(**kw: object) -> tuple[FakeBus, FakeMpu6050, Mpu6050]:
    chip = FakeMpu6050()
    bus = FakeBus({0x68: chip})
    imu = Mpu6050(bus, 0x68, sleep=lambda s: None, **kw)  # type: ignore[arg-type]
    imu.configure()
    return bus, chip, imu


def test_mpu_scale_sign_and_byte_order() -> None:
    _, chip, imu = _mpu(accel_range_g=2, gyro_range_dps=250)
    # Raw +16384 is +1 g at +-2 g; -16384 is -1 g; 131 LSB per deg/s at +-250.
    chip.regs[0x3B:0x41] = bytes([0x40, 0x00, 0xC0, 0x00, 0x20, 0x00])
    chip.regs[0x43:0x49] = bytes([0x00, 0x83, 0xFF, 0x7D, 0x01, 0x06])
    ax, ay, az, gx, gy, gz = imu.read_now()
    assert (ax, ay, az) == (1.0, -1.0, 0.5)
    assert (gx, gy, gz) == pytest.approx((1.0, -1.0, 2.0))


def test_mpu_range_change_rescales() -> None:
    _, chip, imu = _mpu(accel_range_g=8, gyro_range_dps=2000)
    assert chip.regs[0x1C] == 2 << 3 and chip.regs[0x1B] == 3 << 3
    chip.regs[0x3B:0x3D] = bytes([0x40, 0x00])  # 16384 LSB at +-8 g = 4 g
    chip.regs[0x43:0x45] = bytes([0x00, 0xA4])  # 164 LSB at +-2000 = 10 deg/s
    ax, *_ = imu.read_now()
    gx = imu.read_now()[3]
    assert ax == 4.0 and gx == pytest.approx(10.0)


def test_mpu_configuration_registers() -> None:
    _, chip, imu = _mpu(rate_hz=100)
    assert chip.regs[0x6B] == 0x01  # awake, PLL clock
    assert chip.regs[0x19] == 9  # 1 kHz / (1 + 9) = 100 Hz
    assert imu.rate_hz == 100.0
    assert chip.regs[0x23] == 0x78 and chip.regs[0x6A] & 0x40


def test_mpu_dlpf_goes_to_bits_2_0_and_keeps_ext_sync() -> None:
    chip = FakeMpu6050()
    bus = FakeBus({0x68: chip})
    imu = Mpu6050(bus, sleep=lambda s: None)
    chip.regs[0x1A] = 0b00101000  # EXT_SYNC_SET = 5 (after reset a board may strap it)
    chip.power_on = {**FakeMpu6050.power_on, 0x1A: 0b00101000}
    imu.configure()
    assert chip.regs[0x1A] & 0x07 == 3  # 42 Hz at 100 Hz
    assert chip.regs[0x1A] & 0x38 == 0b00101000


def test_mpu_fifo_decodes_in_order_in_small_blocks() -> None:
    bus, chip, imu = _mpu(accel_range_g=4, gyro_range_dps=500)
    for i in range(7):
        chip.push((0.1 * i, -0.5, 1.0), (10.0 * i, 0.0, -3.0))
    assert imu.fifo_count() == 7
    got = imu.read_fifo(7)
    assert [round(s[0], 3) for s in got] == [round(0.1 * i, 3) for i in range(7)]
    assert [round(s[3], 1) for s in got] == [10.0 * i for i in range(7)]
    assert all(s[1] == -0.5 and s[2] == 1.0 for s in got)
    assert imu.fifo_count() == 0


def test_mpu_fifo_overflow_is_flagged() -> None:
    _, chip, imu = _mpu()
    for _ in range(imu.fifo_capacity + 5):
        chip.push((0, 0, 1), (0, 0, 0))
    assert imu.overflowed()
    assert not imu.overflowed()  # INT_STATUS clears on read


def test_mpu_reset_is_noticed() -> None:
    bus, chip, imu = _mpu()
    assert not imu.was_reset()
    chip.power_cycle()  # brown-out: asleep, FIFO off
    assert imu.was_reset()


def test_wrong_chip_and_missing_chip() -> None:
    bus = FakeBus({0x68: FakeMpu6050(who_am_i=0x12)})
    with pytest.raises(ImuError, match="WHO_AM_I 0x12"):
        Mpu6050(bus)
    with pytest.raises(ImuError, match=r"no IMU answered at 0x68/0x69/0x6a/0x6b on /dev/i2c-1: check wiring"):
        detect(FakeBus({}), "/dev/i2c-1")


def test_clones_are_accepted() -> None:
    imu = detect(FakeBus({0x69: FakeMpu6050(who_am_i=0x70, fifo_bytes=512)}))
    assert isinstance(imu, Mpu6050) and imu.chip == "MPU-6500" and imu.fifo_capacity == 42


def test_block_reads_over_32_bytes_are_refused_like_smbus2() -> None:
    bus = FakeBus({0x68: FakeMpu6050()})
    with pytest.raises(ValueError, match="over 32"):
        bus.read_i2c_block_data(0x68, 0x74, BLOCK_MAX + 1)
    with pytest.raises(OSError) as e:
        bus.read_byte_data(0x50, 0x00)
    assert e.value.errno == errno.EREMOTEIO


def test_lsm6dsox_detect_configure_and_read() -> None:
    chip = FakeLsm6dsox()
    bus = FakeBus({0x6B: chip})
    imu = detect(bus, rate_hz=100, accel_range_g=4, gyro_range_dps=500, sleep=lambda s: None)
    assert isinstance(imu, Lsm6dsox) and imu.address == 0x6B
    imu.configure()
    assert imu.rate_hz == 104 and chip.regs[0x10] == (4 << 4) | (2 << 2) and chip.regs[0x11] == (4 << 4) | (1 << 2)
    assert chip.regs[0x12] & 0x40  # block data update: no torn samples
    assert not imu.data_ready()
    chip.push((0.0, -1.0, 0.25), (100.0, -17.5, 0.0))
    assert imu.data_ready()
    ax, ay, az, gx, gy, gz = imu.read_now()
    assert (ax, ay, az) == pytest.approx((0.0, -1.0, 0.25), abs=0.00013)
    assert (gx, gy, gz) == pytest.approx((100.0, -17.5, 0.0), abs=0.018)
    # Little-endian: the low byte comes first at OUTX_L_G.
    raw = int.from_bytes(bytes(chip.regs[0x22:0x24]), "little", signed=True)
    assert raw == round(100.0 / 0.0175)
