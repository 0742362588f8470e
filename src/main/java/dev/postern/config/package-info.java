/**
 * One typed, immutable {@link dev.postern.config.Config}, loaded from TOML (or the embedded default)
 * and validated completely before anything starts. Every mistake is reported with the file, line and
 * key, all at once, so an administrator fixes a file in one pass.
 *
 * <p>Never read anywhere but start-up wiring: other packages receive the values they need.
 */
package dev.postern.config;
