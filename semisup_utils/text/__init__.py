"""How a page writes: Markdown built so that no stored string becomes markup, and numbers and sentences written one way."""
