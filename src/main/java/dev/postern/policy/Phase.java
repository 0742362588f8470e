package dev.postern.policy;

/** The SMTP phases where checks run, each the earliest with the data its checks need. */
public enum Phase { CONNECT, HELO, MAIL, RCPT, DATA }
