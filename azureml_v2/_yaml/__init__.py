"""YAML <-> entities: the loader with locations, marshmallow schemas, dialects and dumping."""
