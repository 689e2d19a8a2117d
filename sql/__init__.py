"""View definitions (plain DuckDB SQL), shipped inside the wheel as package data."""
