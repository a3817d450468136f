package scheduler

// Pending is the number of wake-ups waiting.
func (w *Waker) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.wakes)
}
