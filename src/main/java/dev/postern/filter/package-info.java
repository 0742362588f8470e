/**
 * Content filters outside the process: the milter client (the protocol's codec in {@link dev.postern.filter.MilterProtocol},
 * one connection per milter and SMTP session, the chain's verdicts and modifications). It decides no retries and
 * writes no queue state: receive asks it at each step and stores what it returns.
 */
package dev.postern.filter;
