"""Demo data: a realistic Kreisverwaltung with Akten, Vorgänge and German documents."""
