"""The object model: plain classes, each with its own REST mapping (`_to_rest` / `_from_rest`)."""
