"""Pieces of tools/train_demo_model.py: corpus, tokenizer, chat data, model, GGUF export."""
