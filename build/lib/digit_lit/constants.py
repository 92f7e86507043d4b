"""The numbers every part of digit_lit agrees on (training, export, predict)."""

NUM_CLASSES = 10
IMAGE_SIZE = 28
# MNIST puts each digit in a 20x20 box centred by mass in the 28x28 frame; predict mirrors that.
DIGIT_BOX = 20
# Mean and std of the 60k MNIST training pixels scaled to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
