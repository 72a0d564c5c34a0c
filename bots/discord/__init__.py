"""Discord side of Relais: translates Discord events to core inputs and core results to messages."""
