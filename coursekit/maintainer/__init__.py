"""maintainer"""
