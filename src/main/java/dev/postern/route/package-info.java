/**
 * Where a recipient goes. Local domains resolve through aliases to mailboxes; everything else is
 * remote (MX routing and transports arrive with outbound delivery). Pure: no delivery, no I/O.
 */
package dev.postern.route;
