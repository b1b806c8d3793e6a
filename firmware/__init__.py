"""calfcount on the Raspberry Pi: IMU drivers, sensor-clocked sampling, GPIO feedback and the
device program. Only the thin hardware edges need smbus2 / gpiozero; everything else runs
(and is tested) on any machine."""
