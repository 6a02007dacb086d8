// written in a later step
