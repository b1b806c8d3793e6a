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


class BlockOnlyBus(FakeBus):
    """A bus without combined transfers: the drivers must fall back to 32-byte block reads."""

    i2c_rdwr = None  # type: ignore[assignment]


def test_mpu_long_fifo_read_is_one_i2c_rdwr_transfer() -> None:
    bus, chip, imu = _mpu(accel_range_g=2, gyro_range_dps=250)
    for i in range(40):  # 480 bytes: more than one SMBus block read can carry
        chip.push((i / 100.0, -i / 100.0, 0.5), (i, -i, 0.0))
    n, overflowed = imu.fifo_status()
    assert (n, overflowed) == (40, False)
    before = bus.transfers
    got = imu.read_fifo(n)
    assert bus.transfers - before == 1 and bus.rdwr_reads == 1
    assert [s[0] for s in got] == pytest.approx([i / 100.0 for i in range(40)], abs=1 / 16384)
    assert [s[1] for s in got] == pytest.approx([-i / 100.0 for i in range(40)], abs=1 / 16384)
    assert [s[3] for s in got] == pytest.approx([float(i) for i in range(40)], abs=1 / 131)
    assert [s[4] for s in got] == pytest.approx([-float(i) for i in range(40)], abs=1 / 131)
    assert imu.fifo_count() == 0


def test_mpu_fifo_without_i2c_rdwr_uses_24_byte_blocks() -> None:
    chip = FakeMpu6050()
    bus = BlockOnlyBus({0x68: chip})
    imu = Mpu6050(bus, sleep=lambda s: None)
    imu.configure()
    for i in range(5):
        chip.push((0.25 * i, 0, 1), (0, 0, 5.0 * i))
    before = bus.transfers
    got = imu.read_fifo(5)
    assert bus.transfers - before == 3  # 24 + 24 + 12 bytes
    assert [s[0] for s in got] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [s[5] for s in got] == pytest.approx([0.0, 5.0, 10.0, 15.0, 20.0], abs=0.02)


def test_mpu_full_fifo_counts_as_overflow_even_after_the_flag_was_read() -> None:
    _, chip, imu = _mpu()
    for _ in range(imu.fifo_capacity + 5):
        chip.push((0, 0, 1), (0, 0, 0))
    assert chip.regs[0x3A] & 0x10
    chip.regs[0x3A] = 0  # someone read INT_STATUS already
    assert imu.fifo_bytes_waiting() == 1024  # the chip overwrote bytes: no whole samples any more
    assert imu.fifo_status()[1] is True
    imu.reset_fifo()
    assert imu.fifo_status() == (0, False)


def _lsm(who: int = 0x6C, bus_cls: type = FakeBus, **kw: object) -> tuple[FakeBus, FakeLsm6dsox, Lsm6dsox]:
    chip = FakeLsm6dsox(who_am_i=who, **kw)  # type: ignore[arg-type]
    bus = bus_cls({0x6A: chip})
    imu = Lsm6dsox(bus, 0x6A, rate_hz=100, accel_range_g=2, gyro_range_dps=250, sleep=lambda s: None)
    imu.configure()
    return bus, chip, imu


def test_lsm6dsox_fifo_configuration() -> None:
    _, chip, imu = _lsm()
    assert imu.has_fifo and imu.chip == "LSM6DSO/LSM6DSOX"
    assert chip.regs[0x09] == 0x44  # BDR_GY and BDR_XL = 104 Hz
    assert chip.regs[0x0A] & 0x07 == 0x06  # continuous mode
    assert chip.regs[0x10] == 0x40 and chip.regs[0x11] == 0x40  # 104 Hz, +-2 g, +-250 dps
    assert not imu.was_reset()
    chip.power_cycle()
    assert imu.was_reset()


@pytest.mark.parametrize("gyro_first", [True, False])
def test_lsm6dsox_fifo_words_pair_into_samples_in_order(gyro_first: bool) -> None:
    bus, chip, imu = _lsm(gyro_first=gyro_first)
    for i in range(6):
        chip.push((0.061 * 1000 * i / 1000, -1.0, 0.5), (8.75 * i, -100.0, 0.0))
    assert imu.fifo_status() == (12, False)  # a gyro and an accel word per sample
    # Raw little-endian check: the first word's tag names its sensor, X low byte first.
    assert chip.fifo[0][0] >> 3 == (1 if gyro_first else 2)
    got = imu.read_fifo(12)
    assert bus.rdwr_reads == 1  # 84 bytes in one combined transfer
    assert len(got) == 6
    assert [s[0] for s in got] == pytest.approx([0.061 * i for i in range(6)], abs=1e-9)
    assert all(s[1] == pytest.approx(-1.0, abs=0.0001) and s[2] == pytest.approx(0.5, abs=0.0001) for s in got)
    assert [s[3] for s in got] == pytest.approx([8.75 * i for i in range(6)], abs=1e-9)
    assert all(s[4] == pytest.approx(-100.0, abs=0.005) for s in got)


def test_lsm6dsox_half_a_sample_waits_for_its_partner() -> None:
    bus, chip, imu = _lsm(bus_cls=BlockOnlyBus)
    for i in range(3):
        chip.push((0.0, 0.0, 1.0), (10.0 * i, 0.0, 0.0))
    first = imu.read_fifo(3)  # gyro0, accel0, gyro1
    assert [round(s[3], 2) for s in first] == [0.0]
    rest = imu.read_fifo(3)  # accel1, gyro2, accel2
    assert [round(s[3], 2) for s in rest] == [10.0, 20.0]
    assert imu.words_dropped == 0


def test_lsm6dsox_fifo_overrun_and_reset() -> None:
    _, chip, imu = _lsm()
    for _ in range(imu.fifo_capacity + 10):
        chip.push((0, 0, 1), (0, 0, 0))
    n, overflowed = imu.fifo_status()
    assert overflowed and n == 512
    imu.reset_fifo()
    assert imu.fifo_status() == (0, False)
    chip.push((0, 0, 1), (0, 0, 0))
    assert imu.fifo_status() == (2, False)


def test_lsm6ds3_without_tagged_fifo_is_polled() -> None:
    _, chip, imu = _lsm(who=0x69)
    assert not imu.has_fifo and imu.chip == "LSM6DS3" and imu.fifo_capacity == 1
    chip.push((0.5, 0, -0.5), (0, 30.0, 0))
    assert imu.data_ready()
    ax, ay, az, gx, gy, gz = imu.read_now()
    assert (ax, az) == pytest.approx((0.5, -0.5), abs=0.0001) and gy == pytest.approx(30.0, abs=0.005)
    assert not imu.data_ready()
