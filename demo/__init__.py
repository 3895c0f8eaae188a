"""`make demo`: the whole product on one machine, offline — an alert, a question, its answer."""
