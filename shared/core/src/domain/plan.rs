named_set!(
    /// The customer's subscription (context/company-profile.md, Plans): it sets the support
    /// targets a ticket is held to (`shared/sla-policy.json`). Customers carry no plan yet, so
    /// every ticket is held to the policy's default plan until they do.
    Plan { Free, Team, Business, Enterprise }
);
