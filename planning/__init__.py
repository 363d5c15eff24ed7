"""Planning: forecast, select and route a day; the calendar, the fleet policy, the day's figures, the
scheduler's rules. No HTTP: api/, tomning/ and bench/ call it."""
