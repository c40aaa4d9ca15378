package main

// lowerPriority does nothing on Windows: the worker runs at normal priority.
func lowerPriority() {}
