/**
 * The command line (serve, check-config, user) and start-up wiring. Holds no business logic:
 * it loads the configuration, builds the packages with plain constructors and starts them.
 */
package dev.postern.admin;
