/**
 * Moving bytes to the next hop. Today: Maildir. A delivery reports what happened; it never decides
 * retry timing and never touches queue files.
 */
package dev.postern.deliver;
