"""The engine: builds a recipe's parts, trains, evaluates and writes the run folder."""
