"""calfcount's phone page: a Flask app that is a thin view over the counter's state."""
