"""The whole suite runs torch on one thread: tests share 2 cores with each other and with servers they
start, and OpenMP threads that spin while they wait make a busy machine ten times slower."""

import torch

torch.set_num_threads(1)
