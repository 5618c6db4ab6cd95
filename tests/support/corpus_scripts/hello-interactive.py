"""Stand-in for the corpus's hello-interactive.py: reports the TensorFlow build and the devices it sees."""
import tensorflow as tf

print(f"hello-interactive: tensorflow {tf.__version__}, devices {[d.device_type for d in tf.config.list_physical_devices()]}")
