"""Amazon Comprehend (AMAZON_COMPREHEND_CSV): the entity recognizer's documents and annotations CSV, the classifier's CSV, and the pairing of a server-made export with its PLAIN text."""
